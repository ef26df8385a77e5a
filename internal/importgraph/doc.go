// Package importgraph holds the test that keeps duplex's import graph
// pointing one way: frame <- handshake <- conn <- chat <- cmd, with the
// Autobahn suite independent of the packages it judges.
package importgraph
