"""Model layer: loading local checkpoints, device/dtype choice, decoding. Imports no other Tandem package."""
