"""Names and one-line summaries of the properties, as the command line spells them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Property:
    name: str
    summary: str
    situation: str  # what must be reachable for a proof of it not to be vacuous


PROPERTIES: dict[str, Property] = {p.name: p for p in [
    Property("monotonic", "along one history branch, successive reads of a vCPU never decrease",
             "two reads of the TB on one history branch"),
    Property("frozen-when-stopped",
             "across an explicit pause (whatever happens during it) the TB at resume equals the "
             "TB at stop, within the rule set's offset granularity",
             "an explicit stop followed by a resume"),
    Property("tracks-wall-clock",
             "over a chain of running migrations (from boot, a cont, or a savevm's or loadvm's "
             "resume) every read is the TB at the chain's start plus the true elapsed time "
             "times f_g, within eps*f_g/1e9 plus rounding, once for the whole chain",
             "a read after a running guest's migration (or cancelled one) in its chain"),
    Property("guest-frequency",
             "while the guest runs its TB advances at f_g on every host, also after moving to a "
             "host whose counter runs at another frequency",
             "the guest running on a host other than its boot host"),
    Property("vcpus-agree", "all vCPUs read the same TB at the same instant",
             "a read of every vCPU at one instant"),
    Property("snapshot-frozen",
             "savevm's duration is never seen, and after loadvm the guest resumes at the TB the "
             "snapshot recorded", "a resume after savevm or loadvm"),
    Property("no-overflow",
             "no intermediate value of the rule set's arithmetic leaves its declared C type",
             "a hook that does arithmetic"),
]}


def property_names() -> list[str]:
    return list(PROPERTIES)
