//! tessera: the library facade the CLI is built on.
