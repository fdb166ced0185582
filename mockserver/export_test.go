package mockserver

// AudioTypeOf is audioTypeOf, for the external tests.
var AudioTypeOf = audioTypeOf
