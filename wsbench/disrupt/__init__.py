"""Disruptions: what happens to sessions when pods restart, die, lose the network,
or the proxy reloads — injected at known times on the run's clock.

``plan`` is pure (parse and validate); ``actions`` carries them out (lab or a command).
"""

from __future__ import annotations

from wsbench.disrupt.plan import KINDS, LAB_KINDS, Disruption, parse_disruption, parse_disruptions

__all__ = ["Disruption", "KINDS", "LAB_KINDS", "parse_disruption", "parse_disruptions"]
