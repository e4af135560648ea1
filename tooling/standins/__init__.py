"""Stand-ins for the real model pair: random-weight checkpoints with CodeLlama-7B's and
AMD-Llama-135M's shapes (the target shrunk) and the real LLaMA vocabulary, built at test
time into a cache. `standins.build.build_standins` builds them; so does
`python -m standins.build --out DIR`."""
