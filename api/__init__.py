"""Every interface a person touches: the HTTP API, the command line and the dashboard."""
