"""wsbench in a Kubernetes cluster: the manifests (``wsbench k8s render``) and the Results
that Job pods print to their logs (:mod:`wsbench.k8s.result_log`)."""

__all__: list[str] = []
