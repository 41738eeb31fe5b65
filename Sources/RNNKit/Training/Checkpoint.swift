// Training checkpoints: one safetensors file, written atomically, that is also a model file.
//
// Tensors: the model's (ModelFile.swift), then
//   optimizer.<group>.<name>   [P_group]   the optimizer state (Optimizer.stateTensors(), PyTorch's names);
//                                          groups 0…n−1 of each name cover all parameters in order
//   trainer.carried_hidden     [L, B, R]   the state carried between stream windows (strips, when there is one);
//                                         R = P for a projected LSTM, else H
//   trainer.carried_cell       [L, B, H]   its LSTM cell part
// Metadata (strings), besides the model's:
//   training.format_version = 1
//   training.step, training.optimizer_step, training.skipped_steps, training.consecutive_skipped_steps
//   training.epoch, training.batch_in_epoch, training.epoch_generator_state   the data cursor (the
//                              generator state also draws the windows of StreamSampling.randomWindows)
//   training.dropout_states    comma-separated dropout generator states (encoder's then decoder's for seq2seq)
//   training.data_kind, training.data_count   what the run was trained on, checked on resume
//   training.config.*          the TrainerConfiguration (TrainerConfiguration.swift)
// With the weights, the optimizer state, every generator state and the data cursor restored, the
// next step computes exactly what the uninterrupted run would have.

/// The `training.*` metadata key names.
enum CheckpointKey {
    static let version = "training.format_version"
    static let step = "training.step"
    static let optimizerStep = "training.optimizer_step"
    static let skipped = "training.skipped_steps"
    static let consecutiveSkipped = "training.consecutive_skipped_steps"
    static let epoch = "training.epoch"
    static let batchInEpoch = "training.batch_in_epoch"
    static let epochGeneratorState = "training.epoch_generator_state"
    static let dropoutStates = "training.dropout_states"
    static let dataKind = "training.data_kind"
    static let dataCount = "training.data_count"
}

extension Trainer {
    /// Writes a checkpoint to `path`, atomically (the previous file stays whole until the rename).
    /// - Throws: ``RNNKitError`` `.io` if the file cannot be written.
    public func saveCheckpoint(to path: String) throws {
        var writer: SafeTensorsWriter
        var dropoutStates: [UInt64]
        switch model {
        case .sequence(let m):
            writer = try m.safeTensorsWriter()
            dropoutStates = m.dropoutGeneratorStates
        case .seq2seq(let m):
            writer = try m.safeTensorsWriter()
            dropoutStates = m.encoder.dropoutGeneratorStates + m.decoder.dropoutGeneratorStates
        }
        for (key, values) in optimizer.stateTensors().sorted(by: { $0.key < $1.key }) {
            try writer.add(name: "optimizer." + key, shape: [values.count], values: values)
        }
        if let carriedState {
            let (hiddenWidth, cellWidth) = carriedStateWidths()
            let rows = carriedState.hidden.count / carriedState.batch / hiddenWidth
            try writer.add(name: "trainer.carried_hidden", shape: [rows, carriedState.batch, hiddenWidth], values: carriedState.hidden)
            if let cell = carriedState.cell {
                try writer.add(name: "trainer.carried_cell", shape: [rows, carriedState.batch, cellWidth], values: cell)
            }
        }
        writer.metadata.merge(configuration.fileMetadata) { a, _ in a }
        writer.metadata.merge([
            CheckpointKey.version: "1",
            CheckpointKey.step: String(step),
            CheckpointKey.optimizerStep: String(optimizer.stepCount),
            CheckpointKey.skipped: String(skippedSteps),
            CheckpointKey.consecutiveSkipped: String(consecutiveSkippedSteps),
            CheckpointKey.epoch: String(epoch),
            CheckpointKey.batchInEpoch: String(batchInEpoch),
            CheckpointKey.epochGeneratorState: String(epochGeneratorState),
            CheckpointKey.dropoutStates: dropoutStates.map(String.init).joined(separator: ","),
            CheckpointKey.dataKind: training.kindName,
            CheckpointKey.dataCount: String(training.count),
        ]) { a, _ in a }
        try writer.writeAtomically(to: path)
    }

    /// The widths of each row of the carried `h` (`P` when projected, else `H`) and `c` (`H`).
    private func carriedStateWidths() -> (hidden: Int, cell: Int) {
        switch model {
        case .sequence(let m): (m.configuration.stackConfiguration.stateSize, m.configuration.hiddenSize)
        case .seq2seq(let m): (m.configuration.stateSize, m.configuration.hiddenSize)
        }
    }

    /// Resumes the run saved in the checkpoint at `path`: model (with its vocabulary), optimizer state,
    /// step counters, data cursor and every generator state. Continuing gives the same bits as a run that never stopped.
    /// - Parameters:
    ///   - training: the same training data as the saved run (its kind and size are checked).
    ///   - validation: validation data, or `nil`.
    ///   - configuration: the settings, or `nil` (default) to use the ones recorded in the checkpoint. The batch
    ///     size, sequence length, stream sampling, seed, bucketing and optimizer kind must match the recorded
    ///     ones (a checkpoint written before stream sampling was recorded was trained on strips).
    /// - Throws: ``RNNKitError`` `.invalidFile` for a file that is not an RNNKit training checkpoint of version 1,
    ///   or whose model, optimizer state or data description does not fit; `.io` if unreadable.
    public convenience init(resumingFrom path: String, training: TrainingData, validation: TrainingData? = nil,
                            configuration: TrainerConfiguration? = nil) throws {
        let file = try SafeTensorsFile(contentsOf: path)
        let kind = try checkedModelKind(of: file)
        let metadata = file.metadata ?? [:]
        let source = file.source
        guard let version = metadata[CheckpointKey.version] else {
            throw RNNKitError(.invalidFile, "\(source) is a model file without training state (no '\(CheckpointKey.version)'); expected a checkpoint written by Trainer.saveCheckpoint(to:)")
        }
        guard version == "1" else {
            throw RNNKitError(.invalidFile, "\(source) is a training checkpoint of version \(version); this RNNKit resumes version 1")
        }
        let recorded = try TrainerConfiguration(fileMetadata: metadata, source: source)
        var settings = configuration ?? recorded
        if configuration == nil { settings.checkpointPath = nil; settings.checkpointInterval = 0 }
        let mismatches = [
            ("batch size", "\(recorded.batchSize)", "\(settings.batchSize)"),
            ("sequence length", "\(recorded.sequenceLength)", "\(settings.sequenceLength)"),
            ("stream sampling", recorded.streamSampling.rawValue, settings.streamSampling.rawValue),
            ("seed", "\(recorded.seed)", "\(settings.seed)"),
            ("bucketing", "\(recorded.bucketByLength)", "\(settings.bucketByLength)"),
            ("optimizer", recorded.optimizer.kind.rawValue, settings.optimizer.kind.rawValue),
        ].filter { $0.1 != $0.2 }
        guard mismatches.isEmpty else {
            throw RNNKitError(.invalidFile,
                "\(source) was trained with " + mismatches.map { "\($0.0) \($0.1)" }.joined(separator: ", ")
                + "; the configuration given has " + mismatches.map { "\($0.0) \($0.2)" }.joined(separator: ", ")
                + ". Resume with the recorded settings (pass configuration: nil)")
        }
        let r = MetadataReader(metadata: metadata, source: source)
        let dataKind = try r.string(CheckpointKey.dataKind), dataCount = try r.int(CheckpointKey.dataCount)
        guard dataKind == training.kindName, dataCount == training.count else {
            throw RNNKitError(.invalidFile,
                "\(source) was trained on \(dataKind) data of \(dataCount) \(dataKind == "stream" ? "tokens" : "examples"); the training data given is \(training.kindName) of \(training.count). Resume with the same data")
        }
        let model: LoadedModel = kind == "sequence" ? .sequence(try SequenceModel(file: file)) : .seq2seq(try Seq2SeqModel(file: file))
        try self.init(loaded: model, training: training, validation: validation, configuration: settings)

        // Optimizer state.
        var state: [String: [Float]] = [:]
        for name in file.tensorNames where name.hasPrefix("optimizer.") {
            state[String(name.dropFirst("optimizer.".count))] = try file.values(of: name, as: Float.self)
        }
        // The state of each name, over its groups in order, must cover every parameter once:
        // a checkpoint whose model grouped its parameters otherwise loads as long as the total fits.
        let parameterCount = parameterGroups.reduce(0) { $0 + $1.parameters.count }
        var stateCounts: [String: Int] = [:]
        for (key, values) in state {
            stateCounts[String(key.split(separator: ".", maxSplits: 1).last ?? ""), default: 0] += values.count
        }
        for (name, count) in stateCounts where count != parameterCount {
            throw RNNKitError(.invalidFile,
                "\(source): optimizer state '\(name)' has \(count) values over its groups, but the model has \(parameterCount) parameters")
        }
        do { try optimizer.loadState(state) } catch let error as RNNKitError {
            throw RNNKitError(.invalidFile, "\(source): the optimizer state does not fit a \(settings.optimizer.kind.rawValue) optimizer: \(error.message)")
        }
        optimizer.stepCount = try r.int(CheckpointKey.optimizerStep)

        // Counters, data cursor, generators.
        step = try r.int(CheckpointKey.step)
        skippedSteps = try r.int(CheckpointKey.skipped)
        consecutiveSkippedSteps = try r.int(CheckpointKey.consecutiveSkipped)
        epoch = try r.int(CheckpointKey.epoch)
        batchInEpoch = try r.int(CheckpointKey.batchInEpoch)
        epochGeneratorState = try r.uint64(CheckpointKey.epochGeneratorState)
        plan = makePlan()
        let states = try r.string(CheckpointKey.dropoutStates).split(separator: ",").map { field -> UInt64 in
            guard let value = UInt64(field) else {
                throw RNNKitError(.invalidFile, "\(source): dropout state \"\(field)\" is not an unsigned 64-bit integer")
            }
            return value
        }
        // One per layer (between layers and before the head), then with recurrent dropout one per
        // layer and direction; a seq2seq model holds its encoder's, then its decoder's.
        switch model {
        case .sequence(let m):
            let expected = m.dropoutGeneratorStates.count
            guard states.count == expected else {
                throw RNNKitError(.invalidFile, "\(source) holds \(states.count) dropout states; expected \(expected), one per layer\(m.configuration.recurrentDropout > 0 ? " and one per layer and direction for the recurrent dropout" : "")")
            }
            m.dropoutGeneratorStates = states
        case .seq2seq(let m):
            let encoderCount = m.encoder.dropoutGeneratorStates.count, expected = encoderCount + m.decoder.dropoutGeneratorStates.count
            guard states.count == expected else {
                throw RNNKitError(.invalidFile, "\(source) holds \(states.count) dropout states; expected \(expected), one per layer of encoder and decoder\(m.configuration.recurrentDropout > 0 ? " and one per layer and direction of each for the recurrent dropout" : "")")
            }
            m.encoder.dropoutGeneratorStates = Array(states[..<encoderCount])
            m.decoder.dropoutGeneratorStates = Array(states[encoderCount...])
        }
        if file.tensor(named: "trainer.carried_hidden") != nil, case .sequence(let m) = model {
            let hidden = try file.values(of: "trainer.carried_hidden", as: Float.self)
            let cell = file.tensor(named: "trainer.carried_cell") != nil ? try file.values(of: "trainer.carried_cell", as: Float.self) : nil
            let state = RecurrentState<Float>(batch: settings.batchSize, hidden: hidden, cell: cell)
            let expected = try m.makeState(batch: settings.batchSize)
            guard state.hidden.count == expected.hidden.count, state.cell?.count == expected.cell?.count else {
                throw RNNKitError(.invalidFile, "\(source): the carried stream state does not have the shape [L, B, H] of this model and batch size")
            }
            carriedState = state
        }
    }
}
