"""Model layer: loading local checkpoints, device/dtype choice, decoding. Imports no other Tandem package.

Top level: `pair` (the facade the completion layer calls), `plan` (the load plan), `config`
and `records` (torch-free values the upper layers share), `loading`, `devices`, `embedded`,
`errors`. `engines/` is how a model runs; `decoding/` is how tokens are chosen.
"""
