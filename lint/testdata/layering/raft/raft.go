// Package raft depends on node, a higher layer.
package raft

import (
	"strings"

	"example.com/layered/node" // want layering
)

// Name is a constant.
var Name = strings.ToUpper(node.Name)
