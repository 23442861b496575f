"""Live metrics while a run goes (``wsbench run --metrics-port``): Prometheus, official client."""

from wsbench.live.exporter import LiveMetrics, serve_metrics

__all__ = ["LiveMetrics", "serve_metrics"]
