"""Which Services count as routable: at least one endpoint not marked unready.

``SessionReady`` waits on this, so the Ingress controller has somewhere to send each
path when the URLs are announced."""

from __future__ import annotations

from kubernetes import client

from consumer.adapters.kube_client import _services_with_ready_endpoints


def endpoint_slice(service: str, *readiness: bool | None) -> client.V1EndpointSlice:
    return client.V1EndpointSlice(
        address_type="IPv4",
        metadata=client.V1ObjectMeta(labels={"kubernetes.io/service-name": service}),
        endpoints=[
            client.V1Endpoint(
                addresses=["10.0.0.1"], conditions=client.V1EndpointConditions(ready=ready)
            )
            for ready in readiness
        ],
    )


def test_a_service_counts_once_any_endpoint_is_ready() -> None:
    slices = [
        endpoint_slice("preview", False, True),
        endpoint_slice("chat", False),
        endpoint_slice("vscode"),  # a slice with no endpoints yet
    ]
    assert _services_with_ready_endpoints(slices) == {"preview"}


def test_unset_readiness_reads_as_ready_and_unlabelled_slices_are_ignored() -> None:
    unlabelled = endpoint_slice("x", True)
    unlabelled.metadata.labels = {}
    no_conditions = client.V1EndpointSlice(
        address_type="IPv4",
        metadata=client.V1ObjectMeta(labels={"kubernetes.io/service-name": "chat"}),
        endpoints=[client.V1Endpoint(addresses=["10.0.0.2"])],
    )
    assert _services_with_ready_endpoints(
        [endpoint_slice("vscode", None), no_conditions, unlabelled]
    ) == {"vscode", "chat"}
