"""The DynamoDB table infra/ creates, made on a local endpoint (moto) for tests and the demo."""

from __future__ import annotations


def create_table(name: str) -> str:
    """Exactly the schema infra/ creates: partition key `pk` (S), TTL attribute `expires_at` (N)."""
    import boto3

    client = boto3.client("dynamodb")
    client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return name
