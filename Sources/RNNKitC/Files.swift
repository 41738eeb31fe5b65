// save and load for the C API: thin forwards to RNNKit's safetensors support
// (Sources/RNNKit/Formats), which validates the file before anything is copied.

import RNNKit

/// Writes `network` to the safetensors file at `path`, atomically.
func saveNetwork(_ network: RecurrentNetwork<Float>, to path: String) throws {
    try network.save(to: path)
}

/// Replaces the parameters of `network` with those in the safetensors file at `path`;
/// on any error they are untouched.
func loadNetwork(into network: RecurrentNetwork<Float>, from path: String) throws {
    try network.load(from: path)
}
