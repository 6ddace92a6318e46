// Pulumi captures a stack for every runtime promise, and jest source-maps each one;
// without stacks a mocks test runs about 3x faster (reference, section 7).
Error.stackTraceLimit = 0;
