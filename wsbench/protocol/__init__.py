"""Pure protocol code: no asyncio, sockets or subprocesses."""
