-- 0040_webhook_attempts_delivery_fk (PostgreSQL): a delivery attempt belongs to its delivery, and goes with it. Without
-- the foreign key, an endpoint deleted (with its deliveries) while one of its deliveries was being sent left the attempt
-- that send wrote behind: the outbox saves a result in one round trip (an implicit transaction), where the attempt's
-- INSERT committed beside the delivery's UPDATE of a row already gone. With it, that INSERT fails, the round trip is
-- rolled back and the outbox saves the message's result alone. Attempts already orphaned are removed first.

DELETE FROM webhook_attempts AS a
WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries AS d WHERE d."Id" = a."DeliveryId");

CREATE INDEX "IX_webhook_attempts_DeliveryId" ON webhook_attempts ("DeliveryId");

ALTER TABLE webhook_attempts ADD CONSTRAINT "FK_webhook_attempts_webhook_deliveries_DeliveryId"
    FOREIGN KEY ("DeliveryId") REFERENCES webhook_deliveries ("Id") ON DELETE CASCADE;
