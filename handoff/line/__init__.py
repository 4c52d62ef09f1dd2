"""The line's clock: business hours, who is on duty, the queue, honest waits, service levels."""
