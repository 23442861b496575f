"""The echo "pod" app (``wsbench serve``) and the API to run it as a subprocess.

``wsbench.server.echo`` is the server itself (websockets + uvloop); it is imported only
by the process that serves, so importing this package stays cheap.
"""

from __future__ import annotations

from wsbench.server.process import ServeOptions, ServerProcess, start_server

__all__ = ["ServeOptions", "ServerProcess", "start_server"]
