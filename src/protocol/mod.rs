//! Wire messages: the rkyv types clients and the server exchange, named by direction (`…C2s`
//! client to server, `…S2c` server to client). Pure data and conversions from the simulation's
//! outputs; no IO.

pub mod combat;
