// Test helpers for adapter authors: the storage contract suite.
export {};
