DROP TABLE pointages_chantiers;
DROP TABLE pointages_users;
DROP TABLE pointages;
