"""How tokens are chosen: the speculative loop, draft proposers, the adaptive draft length,
sampling, KV rollback and reuse, and the greedy reference. Independent of the engine that
runs the models."""
