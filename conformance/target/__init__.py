"""The target layer: talking to one target for one profile. The HTTP client (budget, rate,
circuit breaker), the recorder that routes each exchange to the requirement being decided, the
profile session that fills a flow's parameters by role, and its helpers: endpoints and metadata,
codes, tokens, PKCE, login steps, capabilities, outcomes, response validation. It knows the
model, and nothing of checks, verdicts, reports or pytest."""
