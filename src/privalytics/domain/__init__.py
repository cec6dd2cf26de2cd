"""The pure core: no I/O, no framework; standard library, msgspec and itself."""
