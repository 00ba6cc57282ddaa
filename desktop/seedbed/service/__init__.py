"""The engine process: the Engine and the API server on one asyncio loop (issue 16, step 2).

`engine_process` runs it (`seedbed engine serve`, `seedbed run`); `launch` starts one
detached for a data dir and finds the one that runs.
"""
