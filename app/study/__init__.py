"""The study's questions answered from stored runs: grouped configurations, best per group, ratios."""
