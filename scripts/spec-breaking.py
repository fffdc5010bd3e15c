#!/usr/bin/env python3
"""Fails when openapi/openapi.json breaks clients compared with an earlier version of it.

Usage: scripts/spec-breaking.py OLD.json NEW.json

Breaking: a removed path or operation; a removed parameter; a parameter or request-body field
that became required (or a new required one); a removed response status; a removed field of a
response body, or one that is no longer required (always present) or may now be null; a
narrowed type (a type or format changed, an enum value removed, a pattern added or changed, a
minimum raised, a maximum or length lowered, null no longer accepted). Additions are fine.
Prints each problem; exits 1 when there is any.
"""
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


class Spec:
    def __init__(self, doc):
        self.doc = doc

    def resolve(self, node, depth=0):
        while isinstance(node, dict) and "$ref" in node and depth < 50:
            parts = node["$ref"].lstrip("#/").split("/")
            target = self.doc
            for p in parts:
                target = target.get(p.replace("~1", "/").replace("~0", "~"), {})
            node, depth = target, depth + 1
        return node


METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def variants(spec, schema):
    """The alternatives of a schema (oneOf/anyOf/allOf flattened, refs resolved)."""
    schema = spec.resolve(schema)
    if not isinstance(schema, dict):
        return []
    for key in ("oneOf", "anyOf"):
        if key in schema:
            out = []
            for s in schema[key]:
                out.extend(variants(spec, s))
            return out
    if "allOf" in schema:
        merged = {"properties": {}, "required": []}
        for s in schema["allOf"]:
            for v in variants(spec, s):
                merged["properties"].update(v.get("properties", {}))
                merged["required"].extend(v.get("required", []))
                for k in ("type", "enum", "pattern", "format"):
                    if k in v:
                        merged[k] = v[k]
        return [merged]
    return [schema]


def types_of(schema):
    t = schema.get("type")
    if t is None:
        return None
    return set(t) if isinstance(t, list) else {t}


def compare_schema(old_spec, new_spec, old, new, where, problems, direction, seen):
    """direction: 'response' (fields must stay) or 'request' (must not narrow)."""
    key = (id(old), id(new), where)
    if key in seen or len(seen) > 20000:
        return
    seen.add(key)
    olds, news = variants(old_spec, old), variants(new_spec, new)
    if not olds or not news:
        return
    # A nullable object (`oneOf: [null, {$ref}]`) is compared by its object alternative, once
    # whether null is allowed is compared: a response value that may now be null, or a request
    # value that may no longer be, breaks a typed client.
    def non_null(vs):
        return [v for v in vs if types_of(v) != {"null"}]

    def allows_null(vs):
        return any("null" in (types_of(v) or set()) for v in vs)

    if direction == "response" and allows_null(news) and not allows_null(olds):
        problems.append(f"{where}: may now be null")
    # (A `type` list that drops "null" is reported below as a narrowed type.)
    if direction == "request" and (len(olds) > 1 or len(news) > 1) and allows_null(olds) \
            and not allows_null(news):
        problems.append(f"{where}: null no longer accepted")
    if (len(olds) > 1 or len(news) > 1) and len(non_null(olds)) == 1 and len(non_null(news)) == 1:
        olds, news = non_null(olds), non_null(news)
    o, n = olds[0], news[0]
    if len(olds) == 1 and len(news) == 1:
        ot, nt = types_of(o), types_of(n)
        if ot and nt and not ot <= nt and direction == "request":
            problems.append(f"{where}: type narrowed from {sorted(ot)} to {sorted(nt)}")
        if ot and nt and not (nt - {"null"}) <= ot and direction == "response":
            problems.append(f"{where}: type changed from {sorted(ot)} to {sorted(nt)}")
        if direction == "response":
            optional = set(o.get("required", [])) - set(n.get("required", []))
            if optional:
                problems.append(f"{where}: no longer always present {sorted(optional)}")
        if direction == "request":
            if "enum" in o and "enum" in n and set(o["enum"]) - set(n["enum"]):
                problems.append(f"{where}: enum values removed {sorted(set(o['enum']) - set(n['enum']), key=str)}")
            if "enum" not in o and "enum" in n:
                problems.append(f"{where}: now limited to {n['enum']}")
            if n.get("pattern") and n.get("pattern") != o.get("pattern"):
                problems.append(f"{where}: pattern added or changed to {n['pattern']}")
            for k in ("minimum", "minLength", "minItems"):
                if k in n and (k not in o or n[k] > o[k]):
                    problems.append(f"{where}: {k} raised to {n[k]}")
            for k in ("maximum", "maxLength", "maxItems"):
                if k in n and (k not in o or n[k] < o[k]):
                    problems.append(f"{where}: {k} lowered to {n[k]}")
            newly = set(n.get("required", [])) - set(o.get("required", []))
            if newly:
                problems.append(f"{where}: newly required {sorted(newly)}")
        op, np_ = o.get("properties", {}), n.get("properties", {})
        for name, sub in op.items():
            if name not in np_:
                if direction == "response":
                    problems.append(f"{where}.{name}: response field removed")
                continue
            compare_schema(old_spec, new_spec, sub, np_[name], f"{where}.{name}", problems, direction, seen)
        if "items" in o and "items" in n:
            compare_schema(old_spec, new_spec, o["items"], n["items"], f"{where}[]", problems, direction, seen)


def main(old_path, new_path):
    old_doc, new_doc = load(old_path), load(new_path)
    old_spec, new_spec = Spec(old_doc), Spec(new_doc)
    problems = []
    seen = set()
    for path, old_item in old_doc.get("paths", {}).items():
        new_item = new_doc.get("paths", {}).get(path)
        if new_item is None:
            problems.append(f"{path}: path removed")
            continue
        for method in METHODS:
            if method not in old_item:
                continue
            op_name = f"{method.upper()} {path}"
            if method not in new_item:
                problems.append(f"{op_name}: operation removed")
                continue
            o, n = old_item[method], new_item[method]
            oparams = {(p["in"], p["name"]): p for p in map(old_spec.resolve, o.get("parameters", []))}
            nparams = {(p["in"], p["name"]): p for p in map(new_spec.resolve, n.get("parameters", []))}
            for k, p in oparams.items():
                if k not in nparams:
                    problems.append(f"{op_name}: parameter {k[1]} ({k[0]}) removed")
                    continue
                if nparams[k].get("required") and not p.get("required"):
                    problems.append(f"{op_name}: parameter {k[1]} became required")
                compare_schema(old_spec, new_spec, p.get("schema", {}), nparams[k].get("schema", {}),
                               f"{op_name} parameter {k[1]}", problems, "request", seen)
            for k, p in nparams.items():
                if k not in oparams and p.get("required"):
                    problems.append(f"{op_name}: new required parameter {k[1]}")
            ob = old_spec.resolve(o.get("requestBody", {}))
            nb = new_spec.resolve(n.get("requestBody", {}))
            if nb and not ob and nb.get("required"):
                problems.append(f"{op_name}: new required request body")
            for media, content in ob.get("content", {}).items():
                if media not in nb.get("content", {}):
                    problems.append(f"{op_name}: request body {media} no longer accepted")
                    continue
                compare_schema(old_spec, new_spec, content.get("schema", {}), nb["content"][media].get("schema", {}),
                               f"{op_name} body", problems, "request", seen)
            oresp, nresp = o.get("responses", {}), n.get("responses", {})
            for status, r in oresp.items():
                if status not in nresp:
                    problems.append(f"{op_name}: response {status} removed")
                    continue
                r, nr = old_spec.resolve(r), new_spec.resolve(nresp[status])
                for media, content in r.get("content", {}).items():
                    ncontent = nr.get("content", {}).get(media)
                    if ncontent is None:
                        problems.append(f"{op_name}: response {status} {media} removed")
                        continue
                    compare_schema(old_spec, new_spec, content.get("schema", {}), ncontent.get("schema", {}),
                                   f"{op_name} {status}", problems, "response", seen)
    for p in problems:
        print(f"breaking: {p}")
    print(f"spec-breaking: {len(problems)} breaking change(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
