package contracttest

// Describe exposes how Run words a failure, for tests.
var Describe = describe
