// The `rnnkit` command line. Everything lives in RNNKitCLI, so that tests run the same code in-process.
import RNNKitCLI

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

exit(CommandLineRunner.run(Array(CommandLine.arguments.dropFirst()), console: .standard))
