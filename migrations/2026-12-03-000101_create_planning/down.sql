DROP TABLE planning_chantiers;
DROP TABLE planning_users;
DROP TABLE affectations;
