"""gatelab's Hydra launcher plugin (`hydra/launcher: process_pool`, used by `launcher=parallel`)."""
