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
	systems, departments, err := readCatalog(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.SyncCatalog(ctx, systems, departments); err != nil {
		return nil, err
	}
	return models.NewCatalog(systems, departments), nil
}

// readCatalog reads the system catalog and the departments from their
// files, writing nothing: what a command that only reads (a report) needs
// to name systems.
func readCatalog(cfg configs.Config) ([]models.System, []models.Department, error) {
	sys, err := configs.LoadCatalog(cfg.SystemsFile)
	if err != nil {
		return nil, nil, err
	}
	deps, err := configs.LoadDepartments(cfg.DepartmentsFile)
	if err != nil {
		return nil, nil, err
	}
	return models.SystemsFromConfig(sys), models.DepartmentsFromConfig(deps), nil
}
