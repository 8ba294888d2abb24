DROP TABLE signalement_affectations;
DROP TABLE signalement_chantiers;
DROP TABLE signalement_users;
DROP TABLE reponses_signalements;
DROP TABLE signalements;
