"""The non-Qt application core: driving engine workers (WorkerClient) and orchestration."""
