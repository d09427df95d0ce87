"""The monitor's own high availability: replicas of one config, one page per incident
through an Alertmanager cluster."""
