package main

import (
	"context"

	"opsbot/configs"
	"opsbot/models"
)

// loadCatalog reads the system catalog and the departments, keeps the
// database's copy in step (tickets name systems by code), and returns the
// catalog the recogniser uses.
func loadCatalog(ctx context.Context, cfg configs.Config, s *models.Store) (*models.Catalog, error) {
	sys, err := configs.LoadCatalog(cfg.SystemsFile)
	if err != nil {
		return nil, err
	}
	deps, err := configs.LoadDepartments(cfg.DepartmentsFile)
	if err != nil {
		return nil, err
	}
	systems := models.SystemsFromConfig(sys)
	departments := models.DepartmentsFromConfig(deps)
	if err := s.SyncCatalog(ctx, systems, departments); err != nil {
		return nil, err
	}
	return models.NewCatalog(systems, departments), nil
}
