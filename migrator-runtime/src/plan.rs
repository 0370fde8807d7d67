//! Targets (`head`, `base`, IDs, prefixes, relative steps) and the pure
//! function that turns the applied state and a target into the steps to run.
