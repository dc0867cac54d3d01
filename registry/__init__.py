"""Reference registries: administrative geography, villages, inspection regions."""

from registry.geography import amphoes, provinces, tambons
from registry.regions import inspection_regions
from registry.villages import (
    RegistryError,
    load_villages,
    registry_path,
    tambon_centres,
    villages_per_tambon,
)

__all__ = [
    "RegistryError",
    "amphoes",
    "inspection_regions",
    "load_villages",
    "provinces",
    "registry_path",
    "tambon_centres",
    "tambons",
    "villages_per_tambon",
]
