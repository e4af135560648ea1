"""Names of Tandem's own LSP methods, shared by the server and the client without imports of torch."""

STATUS_METHOD = "tandem/status"
