//! Live verification of Entra ID client secrets.
