"""The read-only REST API under /api/v1 for BI and payroll tools: bearer tokens with
scopes, cursor pages, RFC 9457 problem details and an OpenAPI 3.1 document."""
