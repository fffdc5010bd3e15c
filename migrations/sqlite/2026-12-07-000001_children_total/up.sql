-- Stored documents gained `children_total` (and list at most 100 children): every document is
-- rendered again when the server next starts (rows without a document are rendered then).
UPDATE institutes SET document = '' WHERE document <> '';
