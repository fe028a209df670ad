"""The sample estate's records: what was created, by id, so tests and the demo can name it.

Each region holds ``n`` copies of the estate (the scale factor); ``RegionEstate`` keeps the ids of
the first copy (``i == 0``), which is what tests and the demo point at. ``Net`` is one copy's network
and compute, handed to the seeders of the services that live inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ClientFactory = Callable[[str, str], Any]

OWNERS = ("platform-team", "payments-team", "data-team")
AMI = "ami-0abcdef1234567890"


def tags_spec(resource_type: str, **tags: str) -> list[dict[str, Any]]:
    """EC2's ``TagSpecifications`` for one resource (``data_classification`` → ``data-classification``)."""
    return [
        {
            "ResourceType": resource_type,
            "Tags": [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()],
        }
    ]


def tag_list(**tags: str) -> list[dict[str, str]]:
    """``[{Key, Value}]`` as most services take tags."""
    return [{"Key": k.replace("_", "-"), "Value": v} for k, v in tags.items()]


@dataclass
class Net:
    """One copy (the ``i``-th) of a region's network and compute."""

    region: str
    i: int
    env: str
    owner: str
    vpc: str = ""
    igw: str = ""
    public_subnet: str = ""
    private_subnet: str = ""
    public_route_table: str = ""
    private_acl: str = ""
    groups: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    eni: str = ""


@dataclass
class RegionEstate:
    region: str
    # network and compute (network.py)
    vpc: str = ""
    igw: str = ""
    public_subnet: str = ""
    private_subnet: str = ""
    public_route_table: str = ""
    private_acl: str = ""
    groups: dict[str, str] = field(default_factory=dict)
    instances: dict[str, str] = field(default_factory=dict)
    volumes: dict[str, str] = field(default_factory=dict)
    eni: str = ""
    snapshots: dict[str, str] = field(default_factory=dict)
    eips: dict[str, str] = field(default_factory=dict)
    nat_gateway: str = ""
    flow_log: str = ""
    peering: str = ""
    peer_vpc: str = ""
    # storage (storage.py)
    keys: dict[str, str] = field(default_factory=dict)
    buckets: dict[str, str] = field(default_factory=dict)
    # logging, monitoring and messaging (monitoring.py)
    trails: dict[str, str] = field(default_factory=dict)
    log_groups: dict[str, str] = field(default_factory=dict)
    alarms: dict[str, str] = field(default_factory=dict)
    topics: dict[str, str] = field(default_factory=dict)
    queues: dict[str, str] = field(default_factory=dict)
    recorder: str = ""
    # applications and data (apps.py)
    db_instances: dict[str, str] = field(default_factory=dict)
    db_snapshots: dict[str, str] = field(default_factory=dict)
    functions: dict[str, str] = field(default_factory=dict)
    load_balancers: dict[str, str] = field(default_factory=dict)
    target_groups: dict[str, str] = field(default_factory=dict)
    file_systems: dict[str, str] = field(default_factory=dict)
    # security services (security.py)
    detector: str = ""
    secrets: dict[str, str] = field(default_factory=dict)
    repositories: dict[str, str] = field(default_factory=dict)


@dataclass
class Estate:
    account_id: str
    n: int
    regions: dict[str, RegionEstate] = field(default_factory=dict)
    users: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    policies: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)

    @property
    def first(self) -> RegionEstate:
        return next(iter(self.regions.values()))
