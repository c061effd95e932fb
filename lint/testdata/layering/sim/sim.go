// Package sim depends on node, a lower layer.
package sim

import "example.com/layered/node"

// Name is a constant.
const Name = node.Name
