"""The remote engine: decoding on an OpenAI-compatible serving engine (vLLM) instead of
local models, with Tandem's prompts, stop rules and cancellation kept on this side."""
