//! Bus side of the tracker: the outbox relay (the tracker publishes; it consumes nothing yet).

pub mod relay;
