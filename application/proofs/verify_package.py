"""Re-check a Fullchain audit package offline: ``python verify_package.py DIR``.

Needs Python 3.11 and the ``cryptography`` package, and nothing from the service: the
modules it uses (``merkle``, ``customer_map``, ``entries``, ``note``, ``sealed``) are in the
package, beside it (with ``orjson`` installed, it reads the entries faster; the values are
the same). It checks, naming the entry and the reason for anything that fails:

1. the checkpoint (``checkpoint.note``) is signed by the key in ``verifier_key.txt``
   (compare that key with ``GET /v1/audit/verifier-key`` and with what you kept);
2. each entry, recomputed from its stored form, is in the signed tree: its Merkle leaf at
   its leaf index, by its inclusion proof, under the checkpoint's root;
3. the entries are the customer's entries 1, 2, … N in log order, chained one to the next;
4. the customer's head in the checkpoint's map of customers is entry N with that chain:
   no entry of the customer is missing from the package, before, between or after;
5. each readable entry shows its stored facts (an edited amount is found), and only those,
   and who recorded it, when and in which command as stored (fields today's code adds to
   an entry an older version wrote are shown apart, ``derived``, and counted as not
   proved); a personal field, sealed in the stored entry, is opened with its data key
   from ``personal_keys.json`` and must equal what is shown; a field whose key is not
   there (its person was erased) must be shown as ``[erased]``;
6. each witness's countersigned checkpoint (``cosignatures.json``) holds under the log's
   key and the witness's cosignature (c2sp.org/tlog-cosignature v1, timestamped) under its
   key (compare those with what the witnesses publish), and this package's checkpoint
   extends it; a cosignature of the older form (a plain note signature) is shown as such;
7. each file an entry attaches as evidence (a damage photo, a survey report, a proof of
   delivery) is in the package, ``evidence/<sha256>``, and its bytes hash to the SHA-256
   the stored entry names.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import json
import sys
from binascii import a2b_base64
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
merkle: Any = importlib.import_module("merkle")
customer_map: Any = importlib.import_module("customer_map")
entries_module: Any = importlib.import_module("entries")
note: Any = importlib.import_module("note")
loads = entries_module.loads
sealed: Any = importlib.import_module("sealed")


def check(folder: Path) -> tuple[list[str], str]:
    """The problems found (none: the package is proved), and a one-line verdict."""
    problems: list[str] = []
    try:
        verifier = note.Verifier.decode((folder / "verifier_key.txt").read_text().strip())
        head = note.open_checkpoint((folder / "checkpoint.note").read_text(), verifier)
        customers_root = _customers_root(head)
    except (OSError, ValueError) as error:
        return [f"checkpoint: {error}"], "the checkpoint does not hold: nothing is proved"
    reading = "customer.json"
    try:
        customer = json.loads((folder / reading).read_text(encoding="utf-8"))
        customer_id = UUID(customer["relationship_id"])
        map_proof = [base64.b64decode(s, validate=True) for s in customer["map_proof"]]
        reading = "history.jsonl"
        lines = (folder / reading).read_bytes().splitlines()
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        return [f"{reading}: missing, or not as a package holds it ({error!r})"], (
            f"the package's {reading} cannot be read: nothing is proved"
        )
    keys = _personal_keys(folder, problems)

    chain = customer_map.GENESIS
    last_leaf = -1
    count = 0
    derived = 0
    evidence = 0
    checked: dict[str, str] = {}
    included = merkle.Inclusions(head.size, head.root)
    for number, line in enumerate(lines, 1):
        try:
            entry = loads(line)
            where = f"entry {number} (position {entry.get('position')})"
            stored, proof = entry["stored"], entry["proof"]
        except (ValueError, TypeError, AttributeError, KeyError):
            problems.append(f"entry {number}: is not an entry of the package's form")
            continue
        try:
            expected_seq = count + 1
            if proof["seq"] != expected_seq:
                problems.append(
                    f"{where}: is the customer's entry {proof['seq']}, where entry "
                    f"{expected_seq} belongs: an entry was deleted, inserted or moved"
                )
            state = base64.b64decode(stored["state"])
            aggregate_id = UUID(entry["aggregate_id"])
            leaf = merkle.leaf_hash(
                entries_module.entry_bytes(
                    position=entry["position"],
                    aggregate_id=aggregate_id,
                    version=entry["version"],
                    topic=stored["topic"],
                    state=state,
                    recorded_at=stored["recorded_at_micros"],
                )
            )
            try:
                included.verify(
                    leaf,
                    proof["leaf_index"],
                    # as base64.b64decode, each as the proof reaches it
                    (a2b_base64(p) for p in proof["inclusion"]),
                )
            except ValueError:
                problems.append(
                    f"{where}: is not in the signed log as it stands here: its content or its "
                    "proof was changed"
                )
            if proof["leaf_index"] <= last_leaf:
                problems.append(f"{where}: out of log order")
            last_leaf = proof["leaf_index"]
            if entry.get("event_name") != stored["topic"]:
                problems.append(f"{where}: shown as {entry.get('event_name')}, stored as another")
            try:
                whole = entries_module.stored_state(state)
            except ValueError:
                problems.append(f"{where}: the stored state is not JSON")
                whole = {}
            facts = {k: v for k, v in whole.items() if k not in entries_module.METADATA}
            opening: list[str] = []
            shown = entry.get("data", {})
            facts = sealed.open_sealed(facts, keys, aggregate_id, "", opening, shown)
            problems += [f"{where}: {problem}" for problem in opening]
            for name, value in facts.items():
                if not entries_module.same(value, shown.get(name)):
                    problems.append(f"{where}: shows {name} other than the stored entry holds")
            problems += [
                f"{where}: shows {name}, which the stored entry does not hold"
                for name in shown
                if name not in facts
            ]
            for name in entry.get("derived", {}):
                if name in facts:
                    problems.append(f"{where}: shows {name} as derived, which the entry stores")
                derived += 1
            problems += [f"{where}: {p}" for p in _recorded_as_stored(entry, stored, whole)]
            if stored["topic"].endswith(EVIDENCE_ATTACHED):
                evidence += 1
                problem = _evidence_file(folder, facts, checked)
                if problem is not None:
                    problems.append(f"{where}: {problem}")
            count += 1
            chain = customer_map.chain_next(chain, count, leaf)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError) as error:
            problems.append(f"{where}: is not an entry of the package's form ({error!r})")
            continue

    try:
        customer_map.verify_map_proof(
            customers_root,
            customer_map.key_of(customer_id),
            customer_map.head_value(count, chain),
            map_proof,
        )
    except ValueError:
        problems.append(
            f"the package's {count} entries are not the customer's entries as the checkpoint "
            "signed them: entries are missing, added, reordered or changed"
        )
    witnessed = _cosignatures(folder, verifier, head, problems)
    if problems:
        return problems, f"{len(problems)} problem(s) found: the package is not proved"
    return problems, (
        f"{count} entries of customer {customer_id}: complete and intact in the log of "
        f"{head.size} entries signed by {verifier.name} at {head.signed_at.isoformat()}"
        + (f", with the {evidence} evidence file(s) they attach" if evidence else "")
        + (
            f"; {derived} field(s) shown as derived by today's code from entries an older "
            "version wrote, not proved"
            if derived
            else ""
        )
        + "".join(f"; {w}" for w in witnessed)
    )


def _personal_keys(folder: Path, problems: list[str]) -> dict[UUID, bytes]:
    """The data keys of the personal fields the package shows (none: all erased); what
    cannot be read as such a key is named in ``problems`` (its fields are then not
    opened)."""
    path = folder / "personal_keys.json"
    if not path.exists():
        return {}
    try:
        held = json.loads(path.read_text(encoding="utf-8"))["keys"]
        items = list(held.items())
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
        problems.append(f"personal_keys.json: not a list of data keys ({error!r})")
        return {}
    keys = {}
    for name, text in items:
        try:
            key = base64.b64decode(text, validate=True)
            if len(key) not in (16, 24, 32):
                raise ValueError(f"{len(key)} bytes, not an AES key")
            keys[UUID(name)] = key
        except (ValueError, TypeError, AttributeError) as error:
            problems.append(f"personal_keys.json: key {name!r} is not a data key ({error})")
    return keys


#: The stored name's ending of the events that attach a file as evidence.
EVIDENCE_ATTACHED = ".EvidenceAttached"


def _evidence_file(folder: Path, facts: dict[str, Any], checked: dict[str, str]) -> str | None:
    """What is wrong with the file the stored entry attaches, if anything. ``checked``:
    what each file read so far was found to be (read and hashed once, however many
    entries attach it)."""
    sha256 = str(facts.get("sha256", ""))
    name = facts.get("file_name")
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        return "attaches evidence without a SHA-256"
    if sha256 not in checked:
        path = folder / "evidence" / sha256
        if not path.is_file():
            checked[sha256] = "missing"
        elif hashlib.sha256(path.read_bytes()).hexdigest() != sha256:
            checked[sha256] = "altered"
        else:
            checked[sha256] = "intact"
    if checked[sha256] == "missing":
        return f"evidence {sha256} ({name}) is missing from the package"
    if checked[sha256] == "altered":
        return f"evidence {sha256} ({name}) was altered: its bytes hash to another name"
    return None


def _cosignatures(folder: Path, verifier: Any, head: Any, problems: list[str]) -> list[str]:
    """Each witness's countersigned checkpoint in the package: the log's signature holds on
    it, the witness's cosignature (c2sp.org/tlog-cosignature v1: its time and the whole
    checkpoint, under the witness's key of ``witness_keys``) holds and is not dated before
    the log signed that checkpoint, and this package's checkpoint extends it (no split
    view). A plain note signature of the witness's key, the older form kept by the service
    before cosignatures were timestamped, is checked by its own rule and shown as such."""
    path = folder / "cosignatures.json"
    if not path.exists():
        return []
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        texts, cosignatures = list(found.get("witness_keys", [])), found.get("cosignatures", [])
    except (OSError, ValueError, TypeError, AttributeError) as error:
        problems.append(f"cosignatures.json: not as a package holds it ({error!r})")
        return []
    witnesses = {}
    for text in texts:
        try:
            key = note.CosignatureVerifier.decode(text)
        except (ValueError, TypeError, AttributeError) as error:
            problems.append(f"witness key {text!r}: {error}")
            continue
        witnesses[key.name] = key
    witnessed = []
    for c in cosignatures if isinstance(cosignatures, list) else [cosignatures]:
        name = c.get("witness") if isinstance(c, dict) else None
        try:
            earlier = note.open_checkpoint(c["checkpoint"], verifier)
            key = witnesses.get(name)
            if key is None:
                raise ValueError(f"the package gives no key of the witness {name}")
            cosigned = key.verify(note.Note.parse(c["checkpoint"]), older_form=True)
            signed_at = int(earlier.signed_at.timestamp())
            if cosigned.timestamp is not None and cosigned.timestamp < signed_at:
                raise ValueError(
                    f"its time ({cosigned.timestamp}) is before the log signed the "
                    f"checkpoint ({signed_at}): no witness saw it then"
                )
            merkle.verify_consistency(
                earlier.size,
                head.size,
                earlier.root,
                head.root,
                [base64.b64decode(p) for p in c["consistency"]],
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            problems.append(f"cosignature of {name}: {error}")
            continue
        witnessed.append(
            f"countersigned by {name} at {earlier.size} entries ({cosigned.describe()}), "
            "which this checkpoint extends"
        )
    return witnessed


#: The readable entry's fields that say who recorded it, when, and in which command, each
#: as the stored state holds it.
_RECORDED = ("actor", "occurred_at", "command_id", "correlation_id", "causation_id")
#: A field the stored state does not hold.
_ABSENT = object()


def _recorded_as_stored(
    entry: dict[str, Any], stored: dict[str, Any], whole: dict[str, Any]
) -> list[str]:
    """What the readable entry shows of its recording other than the stored entry holds:
    who, when it happened, its command's ids, its aggregate's type and when it was logged."""
    problems = []
    for name in _RECORDED:
        shown = entry.get(name)
        kept = whole.get(name, _ABSENT)
        if kept == shown:  # as it mostly is: nothing more to read
            continue
        # A field the entry does not store is shown as none.
        holds = shown is None if kept is _ABSENT else entries_module.same(kept, shown)
        if not holds:
            problems.append(f"shows {name} other than the stored entry holds")
    if entry.get("aggregate_type") != stored["topic"].partition(".")[0]:
        problems.append("shows aggregate_type other than its stored topic's")
    try:
        logged = entries_module.micros_of(datetime.fromisoformat(entry["recorded_at"]))
    except (KeyError, TypeError, ValueError):
        logged = None
    if logged != stored["recorded_at_micros"]:
        problems.append("shows recorded_at other than the stored entry's")
    return problems


def _customers_root(head: Any) -> bytes:
    for line in head.extensions:
        name, _, value = line.partition(" ")
        if name == "customers":
            return base64.b64decode(value, validate=True)
    raise ValueError("the checkpoint commits to no map of customers' heads")


def main(argv: list[str]) -> int:
    folder = Path(argv[1] if len(argv) > 1 else ".")
    problems, verdict = check(folder)
    for problem in problems:
        print(problem)
    print(verdict)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
