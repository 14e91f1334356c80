// Package shim exposes the Terraform random provider (a terraform-plugin-framework
// provider kept in an internal package) to the bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-framework/provider"

	random "github.com/terraform-providers/terraform-provider-random/internal/provider"
)

// NewProvider returns the upstream provider, unchanged.
func NewProvider() provider.Provider { return random.New() }
