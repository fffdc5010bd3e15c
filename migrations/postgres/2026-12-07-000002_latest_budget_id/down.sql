-- Documents are rendered again by whichever version starts next.
UPDATE institutes SET document = '' WHERE document <> '';
