"""What a proxy spends: CPU time and RSS of its processes from /proc, sampled on the run's
clock (``proc``, ``sampler``, ``observe``), the figures per upgrade, message and session
(``figures``, pure), and keeping the generator and the proxies on separate cores
(``pinning``)."""

from __future__ import annotations

from wsbench.cost.figures import COST_FIGURES, proxy_cost

__all__ = ["COST_FIGURES", "proxy_cost"]
